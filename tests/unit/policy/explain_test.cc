#include "policy/explain.h"

#include <gmock/gmock.h>

#include "cli/policy_commands.h"
#include "policy_fixture.h"

namespace prov::policy::testing {
namespace {

using ::testing::HasSubstr;

class ExplainTest : public PolicyTest {
 protected:
  void SetUp() override {
    policy_ = Policy::load(PROV_SOURCE_DIR "/policies/example.yaml");
    w_ = worker({{"workerId", "100234"},
                 {"firstName", "José"},
                 {"lastName", "Núñez"},
                 {"workerType", "Contractor"},
                 {"department", "Sales"},
                 {"contractEndDate", "2027-03-31"},
                 {"location", "Berlin"},
                 {"jobCode", "INT-7"}});
    ev_ = policy_->evaluate(w_, context({"jnunez"}));
  }
  std::shared_ptr<const Policy> policy_;
  Worker w_;
  Evaluation ev_;
};

TEST_F(ExplainTest, TextNamesEveryDecision) {
  const std::string text = explain_text(*policy_, w_, ev_);
  EXPECT_THAT(text, HasSubstr("username: jose.nunez"));
  EXPECT_THAT(text, HasSubstr("jnunez      taken"));
  EXPECT_THAT(text, HasSubstr("ou: ou=contractors  (role contractors)"));
  EXPECT_THAT(text, HasSubstr("[x] contractors"));
  EXPECT_THAT(
      text,
      HasSubstr("[ ] finance          department: 'Sales' is not one of [Finance, Accounting]"));
  EXPECT_THAT(text, HasSubstr("[ ] berlin           not (jobCode: 'INT-7' starts with 'INT-')"));
  EXPECT_THAT(text, HasSubstr("description     = Contractor until 2027-03-31"));
  EXPECT_THAT(text,
              HasSubstr("from role contractors: Contractor until {{ worker.contractEndDate }}"));
  EXPECT_THAT(text, HasSubstr("contractors  granted by contractors"));
}

TEST_F(ExplainTest, JsonCarriesTheSameFacts) {
  const Json j = explain_json(*policy_, w_, ev_);
  EXPECT_EQ(j["username"]["value"], "jose.nunez");
  EXPECT_EQ(j["username"]["trail"][0]["verdict"], "taken");
  EXPECT_EQ(j["ou"]["source"], "role contractors");
  EXPECT_EQ(j["roles"][1]["name"], "finance");
  EXPECT_EQ(j["roles"][1]["failed_condition"],
            "department: 'Sales' is not one of [Finance, Accounting]");
  EXPECT_EQ(j["attributes"]["mail"]["value"], "jose.nunez@example.com");
  EXPECT_EQ(j["attributes"]["mail"]["source"], "{{ username }}@example.com");
  EXPECT_EQ(j["groups"][0]["granted_by"], "contractors");
  EXPECT_TRUE(j["set_initial_password"].get<bool>());
}

TEST_F(ExplainTest, CommandRendersTextOrJson) {
  std::ostringstream out, err;
  EXPECT_EQ(cmd_explain(w_.record, PROV_SOURCE_DIR "/policies/example.yaml", true, out, err), 0);
  EXPECT_EQ(Json::parse(out.str())["worker_id"], "100234");
  std::ostringstream text;
  EXPECT_EQ(cmd_explain(w_.record, PROV_SOURCE_DIR "/policies/example.yaml", false, text, err), 0);
  EXPECT_THAT(text.str(), HasSubstr("username: jnunez"));  // every name is free here
  std::ostringstream bad_out, bad_err;
  EXPECT_EQ(cmd_explain(w_.record, dir_.write("p.yaml", "version: 1\n"), false, bad_out, bad_err),
            1);
  EXPECT_THAT(bad_err.str(), HasSubstr("p.yaml:1:1: error: the policy has no 'username' section"));
}

}  // namespace
}  // namespace prov::policy::testing

#include "policy/text.h"

#include <gtest/gtest.h>

namespace prov::policy {
namespace {

std::string fold(std::string_view s) {
  std::string out;
  fold_ascii(s, out);
  return out;
}
std::string lower(std::string_view s) {
  std::string out;
  to_lower(s, out);
  return out;
}
std::string upper(std::string_view s) {
  std::string out;
  to_upper(s, out);
  return out;
}
std::string alnum(std::string_view s) {
  std::string out;
  keep_alnum(s, out);
  return out;
}

TEST(FoldAscii, RemovesDiacritics) {
  EXPECT_EQ(fold("José Núñez"), "Jose Nunez");
  EXPECT_EQ(fold("Chloé Zoë Ångström"), "Chloe Zoe Angstrom");
  EXPECT_EQ(fold("Čapek Dvořák Łukasz Żółć"), "Capek Dvorak Lukasz Zolc");
  EXPECT_EQ(fold("Ștefan Țară"), "Stefan Tara");
}

TEST(FoldAscii, SpellsOutSpecialLetters) {
  EXPECT_EQ(fold("Weiß"), "Weiss");
  EXPECT_EQ(fold("Æsa Ærø"), "AEsa AEro");
  EXPECT_EQ(fold("Søren Østergård"), "Soren Ostergard");
  EXPECT_EQ(fold("Œuvre œ þ Þ ĳ"), "OEuvre oe th TH ij");
  EXPECT_EQ(fold("ẞ"), "SS");
}

TEST(FoldAscii, DropsWhatHasNoSpelling) {
  EXPECT_EQ(fold("e\xCC\x81"), "e");  // e + combining acute
  EXPECT_EQ(fold("O\xE2\x80\x99"
                 "Brien"),
            "OBrien");  // typographic apostrophe
  EXPECT_EQ(fold("a\xFF"
                 "b"),
            "ab");  // invalid byte
  EXPECT_EQ(fold("李 Li"), " Li");
}

TEST(CaseMapping, CoversLatinLetters) {
  EXPECT_EQ(lower("ÉMILE ŁUKASZ ŸVES"), "émile łukasz ÿves");
  EXPECT_EQ(upper("émile łukasz ÿves"), "ÉMILE ŁUKASZ ŸVES");
  EXPECT_EQ(lower("ABC-xyz"), "abc-xyz");
  EXPECT_EQ(upper("straße"), "STRAßE");  // no single-letter capital of ß in common use
}

TEST(KeepAlnum, KeepsLettersDigitsAndInnerSeparators) {
  EXPECT_EQ(alnum("o'brien smith"), "obriensmith");
  EXPECT_EQ(alnum("mary-jane.van_dyke"), "mary-jane.van_dyke");
  EXPECT_EQ(alnum(".smith."), "smith");
  EXPECT_EQ(alnum("-_."), "");
  EXPECT_EQ(alnum("jsmith2"), "jsmith2");
}

TEST(FirstChars, CountsCharactersNotBytes) {
  EXPECT_EQ(first_chars("Émile", 1), "É");
  EXPECT_EQ(first_chars("Émile", 3), "Émi");
  EXPECT_EQ(first_chars("ab", 5), "ab");
  EXPECT_EQ(first_chars("ab", 0), "");
}

TEST(Trim, RemovesOuterWhitespace) {
  EXPECT_EQ(trim("  a b \t\n"), "a b");
  EXPECT_EQ(trim("   "), "");
}

}  // namespace
}  // namespace prov::policy

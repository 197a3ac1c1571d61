// Untrusted text made readable (ShowBytes) and inert in HTML (HtmlEscape).
#include "cli/escaping.h"

#include <gtest/gtest.h>

#include <string>

namespace graphene {
namespace {

using namespace std::string_literals;

TEST(ShowBytesTest, KeepsPrintableAsciiAndValidUtf8) {
  EXPECT_EQ(ShowBytes("plain input"), "plain input");
  EXPECT_EQ(ShowBytes("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(ShowBytesTest, EscapesControlBytesAndInvalidUtf8) {
  EXPECT_EQ(ShowBytes("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
  EXPECT_EQ(ShowBytes("nul\0!"s), "nul\\x00!");
  EXPECT_EQ(ShowBytes("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(ShowBytes("\xc3"), "\\xc3") << "truncated sequence";
  EXPECT_EQ(ShowBytes("\xc0\xaf"), "\\xc0\\xaf") << "overlong form";
  EXPECT_EQ(ShowBytes("\xed\xa0\x80"), "\\xed\\xa0\\x80") << "surrogate";
  EXPECT_EQ(ShowBytes("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80") << "above U+10FFFF";
}

TEST(ShowBytesTest, CutsAtMaxCharsCountingAnEscapeAsOne) {
  EXPECT_EQ(ShowBytes("abcdef", 3), "abc...");
  EXPECT_EQ(ShowBytes("abc", 3), "abc");
  EXPECT_EQ(ShowBytes("\n\n\n\n", 2), "\\x0a\\x0a...");
  EXPECT_EQ(ShowBytes("\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9\xc3\xa9...");
}

TEST(HtmlEscapeTest, EscapesMarkupAndQuotes) {
  EXPECT_EQ(HtmlEscape("</script><script>alert('x' & \"y\")</script>"),
            "&lt;/script&gt;&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;");
  EXPECT_EQ(HtmlEscape("plain"), "plain");
}

}  // namespace
}  // namespace graphene

#include "base/frame_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/unique_fd.h"

namespace graphene {
namespace {

struct Pipe {
  UniqueFd read_end, write_end;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
};

TEST(FrameIo, RoundTripsFramesInOrder) {
  Pipe p;
  ASSERT_TRUE(WriteFrame(p.write_end.get(), "first").ok());
  ASSERT_TRUE(WriteFrame(p.write_end.get(), "").ok());
  ASSERT_TRUE(WriteFrame(p.write_end.get(), std::string(1000, 'x')).ok());
  p.write_end.reset();
  auto a = ReadFrame(p.read_end.get());
  auto b = ReadFrame(p.read_end.get());
  auto c = ReadFrame(p.read_end.get());
  auto eof = ReadFrame(p.read_end.get());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && eof.ok());
  EXPECT_EQ(**a, "first");
  EXPECT_EQ(**b, "");
  EXPECT_EQ((*c)->size(), 1000u);
  EXPECT_FALSE(eof->has_value());
}

TEST(FrameIo, TornFrameIsAnError) {
  Pipe p;
  const std::string torn = std::string("\x10\x00\x00\x00", 4) + "abc";
  ASSERT_EQ(::write(p.write_end.get(), torn.data(), torn.size()), 7);
  p.write_end.reset();
  EXPECT_FALSE(ReadFrame(p.read_end.get()).ok());
}

TEST(FrameReader, YieldsFramesSplitAcrossReads) {
  Pipe p;
  ::fcntl(p.read_end.get(), F_SETFL, O_NONBLOCK);
  FrameReader reader;
  ASSERT_EQ(::write(p.write_end.get(), "\x05\x00\x00", 3), 3);
  EXPECT_TRUE(reader.Fill(p.read_end.get()));
  EXPECT_FALSE(reader.Next().has_value());
  EXPECT_TRUE(reader.HasPartial());
  ASSERT_EQ(::write(p.write_end.get(), std::string("\0hello", 6).data(), 6), 6);
  EXPECT_TRUE(reader.Fill(p.read_end.get()));
  EXPECT_EQ(reader.Next().value_or(""), "hello");
  p.write_end.reset();
  EXPECT_FALSE(reader.Fill(p.read_end.get()));
}

TEST(FrameReader, OversizedLengthMarksCorrupt) {
  Pipe p;
  ::fcntl(p.read_end.get(), F_SETFL, O_NONBLOCK);
  FrameReader reader;
  ASSERT_EQ(::write(p.write_end.get(), "\xff\xff\xff\xff", 4), 4);
  reader.Fill(p.read_end.get());
  EXPECT_FALSE(reader.Next().has_value());
  EXPECT_TRUE(reader.corrupt());
}

}  // namespace
}  // namespace graphene

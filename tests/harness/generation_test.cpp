// `bench samples` (harness/experiments/generation.h): which bytes are given, the files written,
// seeds, errors. The data is made here: a gray PNG of two tiles, a 16 kHz WAV of two chunks, a text
// of three.
#include "harness/experiments/generation.h"

#include <gtest/gtest.h>
#include <sndfile.h>
#include <stb_image.h>
#include <stb_image_write.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "common/bytes.h"
#include "common/error.h"
#include "harness/bench_cli.h"
#include "test_support.h"

namespace lmc {
namespace {

namespace fs = std::filesystem;

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Gray {
  int width = 0, height = 0;
  Bytes pixels;
};

Gray read_png(const fs::path& path) {
  Gray image;
  int channels = 0;
  stbi_uc* pixels = stbi_load(path.c_str(), &image.width, &image.height, &channels, 0);
  if (pixels == nullptr) throw std::runtime_error(path.string() + ": not a PNG");
  EXPECT_EQ(channels, 1) << path;
  image.pixels.assign(pixels, pixels + image.width * image.height * channels);
  stbi_image_free(pixels);
  return image;
}

struct Sound {
  SF_INFO info{};
  Bytes samples;  // high byte + 128, as the audio datasets read them
};

Sound read_wav(const fs::path& path) {
  Sound sound;
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &sound.info);
  if (file == nullptr) throw std::runtime_error(path.string() + ": not a sound file");
  std::vector<short> wide(static_cast<std::size_t>(sound.info.frames));
  sf_readf_short(file, wide.data(), sound.info.frames);
  sf_close(file);
  for (short s : wide) sound.samples.push_back(static_cast<std::uint8_t>((s >> 8) + 128));
  return sound;
}

class SamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path images = dir_.path() / "images";
    fs::create_directories(images);
    Bytes gray(64 * 64);  // two 32 x 64 tiles, a diagonal ramp
    for (std::size_t i = 0; i < gray.size(); ++i) {
      gray[i] = static_cast<std::uint8_t>((i % 64) * 2 + (i / 64) * 3);
    }
    stbi_write_png((images / "ramp.png").c_str(), 64, 64, 1, gray.data(), 64);
    tile_ = Bytes(gray.begin(), gray.begin() + kSampleChunkSize);

    const fs::path audio = dir_.path() / "audio";
    fs::create_directories(audio);
    SF_INFO info{};
    info.samplerate = 16000;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    std::vector<short> tone(5000);
    for (std::size_t i = 0; i < tone.size(); ++i) {
      tone[i] = static_cast<short>(8000 * std::sin(static_cast<double>(i) * 0.05));
    }
    SNDFILE* file = sf_open((audio / "tone.wav").c_str(), SFM_WRITE, &info);
    sf_writef_short(file, tone.data(), static_cast<sf_count_t>(tone.size()));
    sf_close(file);

    std::ofstream text(dir_.path() / "text.xml");
    for (int i = 0; text.tellp() < 3 * 2048; ++i) {
      text << "<page><title>Entry " << i << "</title><text>The quick brown fox.</text></page>\n";
    }
    text.close();

    config_ = {
        {"name", "tiny-samples"},
        {"seed", 1},
        {"inputs",
         {{{"name", "image"}, {"kind", "imagenet"}, {"path", images.string()}, {"chunk", 0}},
          {{"name", "audio"}, {"kind", "librispeech"}, {"path", audio.string()}, {"chunk", 1}},
          {{"name", "text"},
           {"kind", "enwik"},
           {"path", (dir_.path() / "text.xml").string()},
           {"chunk", 2}}}},
        {"samplers", {lm_sampler()}}};
  }

  static nlohmann::json lm_sampler() {
    return {
        {"name", "lm"},
        {"kind", "lm"},
        {"checkpoint", (test::source_dir() / "models/checkpoints/transformer-200k.lmct").string()}};
  }

  nlohmann::json run(const nlohmann::json& config, const std::string& folder) {
    return generate_samples(parse_samples_config(config), dir_.path() / folder, {});
  }

  std::string write_config(const nlohmann::json& config) {
    const auto path = dir_.path() / "samples.json";
    std::ofstream(path) << config.dump(2);
    return path.string();
  }

  test::TempDir dir_;
  Bytes tile_;
  nlohmann::json config_;
};

TEST(SampledPositions, ImageRowsAudioAndTextAsThePaper) {
  const auto image = sampled_positions(Modality::Image);
  ASSERT_EQ(image.size(), 2048u);
  for (std::size_t row = 0; row < 32; ++row) {
    for (std::size_t column = 0; column < 64; ++column) {
      EXPECT_EQ(image[row * 64 + column], column >= 32) << row << ", " << column;
    }
  }
  const auto audio = sampled_positions(Modality::Audio);
  EXPECT_EQ(std::count(audio.begin(), audio.begin() + 1024, true), 0);
  EXPECT_EQ(std::count(audio.begin() + 1024, audio.end(), true), 1024);
  const auto text = sampled_positions(Modality::Text);
  EXPECT_EQ(std::count(text.begin(), text.begin() + 1948, true), 0);
  EXPECT_EQ(std::count(text.begin() + 1948, text.end(), true), 100);
}

TEST_F(SamplesTest, GivenBytesAreKeptAndFilesHaveTheChunksShape) {
  const nlohmann::json result = run(config_, "out");
  const fs::path out = dir_.path() / "out";

  const Gray original = read_png(out / "image-original.png");
  EXPECT_EQ(original.width, 64);
  EXPECT_EQ(original.height, 32);
  EXPECT_EQ(original.pixels, tile_);
  const Gray image = read_png(out / "image-lm.png");
  ASSERT_EQ(image.pixels.size(), 2048u);
  for (std::size_t i = 0; i < 2048; ++i) {
    if (i % 64 < 32) {
      ASSERT_EQ(image.pixels[i], tile_[i]) << "given pixel " << i;
    } else {
      ASSERT_EQ(image.pixels[i] % 2, 0) << "a 7-bit symbol comes back as an even byte";
    }
  }

  const Sound given = read_wav(out / "audio-original.wav");
  const Sound audio = read_wav(out / "audio-lm.wav");
  EXPECT_EQ(audio.info.frames, 2048);
  EXPECT_EQ(audio.info.samplerate, 16000);
  EXPECT_EQ(audio.info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_U8);
  EXPECT_TRUE(
      std::equal(given.samples.begin(), given.samples.begin() + 1024, audio.samples.begin()));

  const Bytes text = read_bytes(out / "text-lm.txt");
  const Bytes text_original = read_bytes(out / "text-original.txt");
  ASSERT_EQ(text.size(), 2048u);
  EXPECT_TRUE(std::equal(text.begin(), text.begin() + 1948, text_original.begin()));

  const auto& inputs = result.at("inputs");
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].at("modality"), "image");
  EXPECT_EQ(inputs[0].at("sampled_bytes"), 1024);
  EXPECT_EQ(inputs[1].at("sample_rate"), 16000);
  EXPECT_EQ(inputs[2].at("given_bytes"), 1948);
  EXPECT_EQ(inputs[2].at("samples")[0].at("file"), "text-lm.txt");
  EXPECT_EQ(nlohmann::json::parse(read_bytes(out / "generation.json")), result);
}

TEST_F(SamplesTest, ASeedGivesTheSameSamples) {
  run(config_, "a");
  run(config_, "b");
  config_["seed"] = 2;
  run(config_, "c");
  for (const char* file : {"image-lm.png", "audio-lm.wav", "text-lm.txt"}) {
    const Bytes a = read_bytes(dir_.path() / "a" / file);
    EXPECT_EQ(a, read_bytes(dir_.path() / "b" / file)) << file;
    EXPECT_NE(a, read_bytes(dir_.path() / "c" / file)) << file;
  }
}

TEST_F(SamplesTest, ACompressorSamplesTheLastHundredBytesOfText) {
  config_["inputs"] = {config_["inputs"][2]};
  config_["samplers"] = {{{"name", "gzip"}}};
  const nlohmann::json result = run(config_, "out");
  const Bytes original = read_bytes(dir_.path() / "out" / "text-original.txt");
  const Bytes sample = read_bytes(dir_.path() / "out" / "text-gzip.txt");
  ASSERT_EQ(sample.size(), 2048u);
  EXPECT_TRUE(std::equal(sample.begin(), sample.begin() + 1948, original.begin()));
  EXPECT_EQ(result["samplers"][0]["settings"]["level"], 9);
}

TEST_F(SamplesTest, BadConfigsNameTheKey) {
  const auto expect_error = [&](nlohmann::json config, const std::string& expected) {
    try {
      parse_samples_config(config);
      ADD_FAILURE() << "accepted: " << expected;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  auto config = config_;
  config["samplers"][0]["kind"] = "no-such-codec";
  expect_error(config, "samplers[0].kind: unknown compressor 'no-such-codec'");
  config = config_;
  config["inputs"][0].erase("chunk");
  expect_error(config, "inputs[0].chunk: required key is missing");
  config = config_;
  config["inputs"][1]["kind"] = "random";
  expect_error(config, "inputs[1].kind: random has no layout to sample");
  config = config_;
  config["temperature"] = -1;
  expect_error(config, "temperature: expected a number >= 0");
  config = config_;
  config["sampler"] = config["samplers"];
  expect_error(config, "sampler: unknown key");
  config = config_;
  config["samplers"].push_back(lm_sampler());
  expect_error(config, "samplers: duplicate name \"lm\"");

  config = config_;
  config["inputs"][0]["chunk"] = 2;  // the PNG holds two tiles
  EXPECT_THROW(
      {
        try {
          run(config, "never");
        } catch (const InputError& e) {
          EXPECT_NE(std::string(e.what()).find("inputs[0].chunk: 2 is past the last chunk; the "
                                               "dataset holds 2 chunks"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      InputError);
  EXPECT_FALSE(fs::exists(dir_.path() / "never")) << "nothing is written before every check";
}

TEST_F(SamplesTest, CommandLineWritesTheFilesAndReportsBadInput) {
  config_["inputs"] = {config_["inputs"][2]};
  const std::string config = write_config(config_);
  const fs::path out = dir_.path() / "cli";
  const auto ok = test::run_bench("samples " + config + " --out " + out.string() +
                                  " --no-figures --set seed=3");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("text / lm: done in"), std::string::npos) << ok.output;
  EXPECT_TRUE(fs::exists(out / "text-lm.txt"));
  EXPECT_EQ(nlohmann::json::parse(read_bytes(out / "generation.json"))["config"]["seed"], 3);

  const auto bad_flag = test::run_bench("samples " + config + " --no-such-flag");
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.output.find("--no-such-flag"), std::string::npos) << bad_flag.output;

  const auto missing = test::run_bench("samples " + (dir_.path() / "absent.json").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("absent.json"), std::string::npos) << missing.output;

  const auto bad_key = test::run_bench("samples " + config + " --set inputs[0].chunk=99");
  EXPECT_EQ(bad_key.exit_code, 2);
  EXPECT_NE(bad_key.output.find("inputs[0].chunk: 99 is past the last chunk"), std::string::npos)
      << bad_key.output;
}

}  // namespace
}  // namespace lmc

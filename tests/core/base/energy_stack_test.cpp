#include "core/base/energy_stack.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "core/base/error.hpp"

using namespace xanesmap;

TEST_CASE("EnergyStack holds frames frame-major", "[energy_stack]") {
  std::vector<float> values(2 * 3 * 4);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  const EnergyStack stack({6500.0, 6501.0}, 3, 4, values);
  CHECK(stack.frame_count() == 2);
  CHECK(stack.height() == 3);
  CHECK(stack.width() == 4);
  CHECK(stack.frame(1)(2, 3) == 23.0f);  // (e * H + row) * W + col = (1*3+2)*4+3
  CHECK(stack.frame(0)(1, 0) == 4.0f);
}

TEST_CASE("EnergyStack refuses energies that are not strictly increasing", "[energy_stack]") {
  const std::vector<float> values(3 * 2 * 2, 0.0f);
  CHECK_THROWS_WITH(EnergyStack({6500.0, 6500.0, 6501.0}, 2, 2, values),
                    Catch::Contains("duplicates") && Catch::Contains("6500"));
  CHECK_THROWS_WITH(EnergyStack({6500.0, 6502.0, 6501.0}, 2, 2, values),
                    Catch::Contains("not increasing") && Catch::Contains("energy 2"));
  CHECK_THROWS_WITH(EnergyStack({6500.0, NAN, 6501.0}, 2, 2, values), Catch::Contains("finite"));
  CHECK_THROWS_AS(EnergyStack({}, 2, 2, FloatBuffer{}), InputError);
}

TEST_CASE("EnergyStack refuses inconsistent sizes with a message that says what",
          "[energy_stack]") {
  CHECK_THROWS_WITH(EnergyStack({6500.0, 6501.0}, 2, 2, std::vector<float>(7)),
                    Catch::Contains("need 8 values") && Catch::Contains("7 were given"));
  CHECK_THROWS_WITH(EnergyStack({6500.0}, 0, 5, FloatBuffer{}), Catch::Contains("needs pixels"));
  std::vector<Image<float>> frames{Image<float>(4, 4), Image<float>(4, 5)};
  CHECK_THROWS_WITH(EnergyStack({6500.0, 6501.0}, frames),
                    Catch::Contains("frame 1 is 4x5 but frame 0 is 4x4"));
  CHECK_THROWS_WITH(EnergyStack({6500.0, 6501.0, 6502.0}, frames),
                    Catch::Contains("3 energies but 2 frames"));
}

TEST_CASE("Image copies own their pixels, views alias", "[image]") {
  Image<float> a(2, 2, 1.0f);
  Image<float> b = a;
  b(0, 0) = 5.0f;
  CHECK(a(0, 0) == 1.0f);
  ImageView<float> v = a.view();
  v(1, 1) = 7.0f;
  CHECK(a(1, 1) == 7.0f);
  const Image<float> c(ImageView<const float>(a.view()));
  CHECK(c(1, 1) == 7.0f);
}

TEST_CASE("EnergyStack removes frames in place, keeping the others in order", "[energy_stack]") {
  std::vector<float> values(4 * 2 * 2);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  EnergyStack stack({6500.0, 6501.0, 6502.0, 6503.0}, 2, 2, values);
  const float* before = stack.values().data();
  const std::vector<std::uint8_t> remove{1, 0, 1, 0};
  stack.remove_frames(remove);
  CHECK(stack.values().data() == before);  // no second stack
  REQUIRE(stack.frame_count() == 2);
  CHECK(stack.energies_ev() == std::vector<double>{6501.0, 6503.0});
  CHECK(stack.frame(0)(0, 0) == 4.0f);   // the first value of old frame 1
  CHECK(stack.frame(1)(1, 1) == 15.0f);  // the last value of old frame 3
  CHECK(stack.values().size() == 8);
  CHECK_THROWS_AS(stack.remove_frames(std::vector<std::uint8_t>{1}), InputError);
  CHECK_THROWS_AS(stack.remove_frames(std::vector<std::uint8_t>{1, 1}), InputError);
  CHECK(stack.frame_count() == 2);  // a refused removal leaves the stack as it was
}

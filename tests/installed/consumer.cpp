// The header from C++ (scripts/test.sh builds this against the installed library
// through pkg-config): extern "C" linkage, the *_init macros and the enums compile as
// C++, and a few calls work with std::vector buffers.
#include <dlsc.h>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  if (dlsc_version() != DLSC_VERSION_NUMBER) {
    std::fprintf(stderr, "consumer.cpp: header and library versions differ\n");
    return 1;
  }
  dlsc_stft_config config;
  dlsc_stft_config_init(&config);
  dlsc_stft_t *stft = nullptr;
  dlsc_status status = dlsc_stft_create(&config, &stft);
  if (status != DLSC_OK) {
    std::fprintf(stderr, "consumer.cpp: stft: %s\n", dlsc_strerror(status));
    return 1;
  }
  std::vector<float> tone(48000);
  for (size_t i = 0; i < tone.size(); i++)
    tone[i] = (float)std::sin(2.0 * 3.14159265358979 * 1000.0 * (double)i / 48000.0);
  size_t n = 0;
  status = dlsc_resample(tone.data(), tone.size(), 48000, 16000, nullptr, 0, &n);
  std::vector<float> low(n);
  if (status == DLSC_OK)
    status = dlsc_resample(tone.data(), tone.size(), 48000, 16000, low.data(), low.size(), &n);
  double expected = std::sin(2.0 * 3.14159265358979 * 1000.0 * 8001.0 / 16000.0);
  if (status != DLSC_OK || n != 16000 || std::fabs(low[8001] - expected) > 1e-4) {
    std::fprintf(stderr, "consumer.cpp: resample: %s\n", dlsc_strerror(status));
    return 1;
  }
  dlsc_model_t *model = nullptr, *other = nullptr;
  if (dlsc_model_create_from_spec("input 1x1x513; dense 513; sigmoid", 1, &model) != DLSC_OK ||
      dlsc_model_load(nullptr, 0, &other) != DLSC_ERR_INVALID_ARGUMENT || other) {
    std::fprintf(stderr, "consumer.cpp: model statuses\n");
    return 1;
  }
  dlsc_model_destroy(model);
  dlsc_stft_destroy(stft);
  dlsc_stft_destroy(nullptr);
  std::printf("C++ consumer: OK (dlsc %s)\n", dlsc_version_string());
  return 0;
}

// OpenCV's core, imgproc and imgcodecs headers, for .cpp files only (never public headers).
// OpenCV 4.6's headers mix enums of different types (deprecated in C++20) and convert int to
// float implicitly; those warnings concern OpenCV's code, not ours. CMake passes imported targets'
// include folders with -isystem, which silences them too; this keeps a plain -I build clean.
#pragma once

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-enum-enum-conversion"
#pragma GCC diagnostic ignored "-Wconversion"
#endif
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

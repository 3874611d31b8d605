# FindFFTW3
# ---------
#
# Finds FFTW 3 in double and single precision (Debian: libfftw3-dev, which holds both), which
# ships no CMake config file.
# xanesmap uses it for the real-to-complex transforms of registration (core/registration/detail/fft.cpp).
#
# Usage:
#   find_package(FFTW3 REQUIRED)
#   target_link_libraries(mytarget PRIVATE FFTW3::fftw3)
#
# Imported target (UNKNOWN IMPORTED): FFTW3::fftw3, with its include folder.
# Result variables: FFTW3_FOUND, FFTW3_INCLUDE_DIR, FFTW3_LIBRARY, FFTW3F_LIBRARY.
include(FindPackageHandleStandardArgs)
find_path(FFTW3_INCLUDE_DIR fftw3.h)
find_library(FFTW3_LIBRARY NAMES fftw3)
find_library(FFTW3F_LIBRARY NAMES fftw3f)
find_package_handle_standard_args(FFTW3 REQUIRED_VARS FFTW3_LIBRARY FFTW3F_LIBRARY FFTW3_INCLUDE_DIR)
if(FFTW3_FOUND AND NOT TARGET FFTW3::fftw3)
  add_library(FFTW3::fftw3 UNKNOWN IMPORTED)
  set_target_properties(FFTW3::fftw3 PROPERTIES
    IMPORTED_LOCATION "${FFTW3_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${FFTW3_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${FFTW3F_LIBRARY}")
endif()
mark_as_advanced(FFTW3_INCLUDE_DIR FFTW3_LIBRARY FFTW3F_LIBRARY)

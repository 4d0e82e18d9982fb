# tests/reliability.cmake: the reliability catalogue, faults and fuzzing
# (docs/reliability.md).  Label `reliability`: `ctest -L reliability`.
include(${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz.cmake)

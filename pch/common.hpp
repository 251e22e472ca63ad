// Precompiled for every target that names it (cpp_pch): the heavy headers
// nearly every file includes. With fmt and toml++ header-only, and nlohmann's
// json everywhere, parsing these once per target instead of once per file
// roughly halves a clean build — what CI pays twice (normal and sanitizers).
// Sources still include what they use: this file only makes it cheap.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// jobctl's precompiled headers (see common.hpp): CLI11 besides.
#pragma once

#include <CLI/CLI.hpp>

#include "common.hpp"

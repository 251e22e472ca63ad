// jobd's precompiled headers (see common.hpp): libuv besides.
#pragma once

#include <uv.h>

#include "common.hpp"

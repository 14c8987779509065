// residue/residue.hpp: the whole public API of the residue engine.
#pragma once

#include "residue/core.hpp"
#include "residue/decode.hpp"
#include "residue/hash.hpp"
#include "residue/report.hpp"
#include "residue/scan.hpp"
#include "residue/source.hpp"

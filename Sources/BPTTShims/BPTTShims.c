// The functions are static inline in include/BPTTShims.h; this file gives the target a source.
#include "BPTTShims.h"

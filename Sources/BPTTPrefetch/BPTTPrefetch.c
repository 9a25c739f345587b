// The functions are static inline in include/BPTTPrefetch.h; this file gives the target a source.
#include "BPTTPrefetch.h"

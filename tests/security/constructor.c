/* A shared object whose constructor leaves a mark: loading it at all (not
 * only calling it) is what the agent must never do because of a request
 * (docs/security.md, item 1). The mark is the file MUSTER_MARK names. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void leave_mark(void) {
    const char* path = getenv("MUSTER_MARK");
    FILE* f = fopen(path ? path : "/tmp/muster-security-mark", "w");
    if (f) {
        fputs("loaded\n", f);
        fclose(f);
    }
}

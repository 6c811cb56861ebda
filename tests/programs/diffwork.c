/* tracefold test program for several-runs diffs: main -> run(n) -> n x { compute(); other(); },
 * then a short fsync of a small file. `compute` does FACTOR times the arithmetic of `other`:
 * a build with -DFACTOR=4 is "the new build doing 4x the work in one function".
 * Build with gcc -pg [-DFACTOR=N]. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef FACTOR
#define FACTOR 1
#endif

static volatile unsigned long sink;

/* the loop is written out in each function (no call): the work is the function's self time */
#define SPIN(x, k) for (int j_ = 0; j_ < (k); j_++) x = x * 6364136223846793005UL + 1442695040888963407UL

void compute(int i)
{
    unsigned long x = (unsigned long)i;
    SPIN(x, 10000 * FACTOR);
    sink += x;
}

void other(int i)
{
    unsigned long x = (unsigned long)i;
    SPIN(x, 10000);
    sink += x;
}

void run(int n)
{
    for (int i = 0; i < n; i++) {
        compute(i);
        other(i);
    }
}

void save(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    char buf[64];
    int len = snprintf(buf, sizeof buf, "%lu\n", sink);
    if (write(fd, buf, len) == len)
        fsync(fd);
    close(fd);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 300;
    run(n);
    save(argc > 2 ? argv[2] : "diffwork.out");
    printf("%lu\n", sink);
    return 0;
}

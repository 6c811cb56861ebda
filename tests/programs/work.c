/* tracefold test program for diffs: main -> run(n) -> step() n times; step does a fixed
 * amount of arithmetic, so doubling n doubles the work. Build with gcc -pg. */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

void step(int i)
{
    unsigned long x = (unsigned long)i;
    for (int k = 0; k < 2000; k++)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    sink += x;
}

void run(int n)
{
    for (int i = 0; i < n; i++)
        step(i);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100;
    run(n);
    printf("%lu\n", sink);
    return 0;
}

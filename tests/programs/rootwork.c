/* tracefold test program: a root frame with a lot of self time (main spins ~0.1-1 ms itself,
 * then calls a short leaf). uftrace 0.13's flame graph prints weights of at most as many digits
 * as the stack has characters, so main's self time always exercises that limit of the oracle.
 * Build with gcc -pg. */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned long sink;

static unsigned long leaf(unsigned long x) { return x * 3 + 1; }

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    unsigned long x = 1;
    for (long i = 0; i < n; i++)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    sink = leaf(x);
    printf("%lu\n", sink);
    return 0;
}

/* tracefold test program: recursion, leaf calls, a return value. Build with gcc -pg. */
#include <stdio.h>
#include <stdlib.h>

int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static int square(int x) { return x * x; }

int sum_squares(int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)
        s += square(i);
    return s;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10;
    printf("%d %d\n", fib(n), sum_squares(n));
    return 0;
}

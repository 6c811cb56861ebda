/* tracefold test program: several threads doing nested work. Build with gcc -pg -pthread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static volatile long sink;

static long leaf(long x) { return x * 3 + 1; }

static long middle(long n)
{
    long s = 0;
    for (long i = 0; i < n; i++)
        s += leaf(i);
    return s;
}

static void *worker(void *arg)
{
    long n = (long)arg;
    for (int i = 0; i < 5; i++)
        sink += middle(n);
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20;
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, worker, (void *)(n + i));
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("%ld\n", sink);
    return 0;
}

/* tracefold test program: file I/O through stdio. Build with gcc -pg. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void write_lines(const char *path, int n)
{
    FILE *f = fopen(path, "w");
    for (int i = 0; i < n; i++)
        fprintf(f, "line %d\n", i);
    fclose(f);
}

static int read_lines(const char *path)
{
    char buf[64];
    int n = 0;
    FILE *f = fopen(path, "r");
    while (fgets(buf, sizeof buf, f))
        n += strlen(buf) > 0;
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "fileio.out";
    int n = argc > 2 ? atoi(argv[2]) : 20;
    write_lines(path, n);
    printf("%d\n", read_lines(path));
    return 0;
}

// A wall-clock shim for tests, loaded with LD_PRELOAD: CLOCK_REALTIME (and gettimeofday and
// time) read the real clock plus an offset in seconds, taken from the file named by
// $WALLCLOCK_OFFSET_FILE (re-read at most every 20 ms of monotonic time). The monotonic
// clocks are left alone, as an NTP step leaves them. Built by WallClockShim.swift with cc.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime(void) {
    static clock_gettime_fn real;
    if (!real) real = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    return real;
}

static long long offset_nanoseconds(void) {
    static long long cached;
    static long long read_at = -1;
    struct timespec now;
    real_clock_gettime()(CLOCK_MONOTONIC, &now);
    long long monotonic = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    if (read_at >= 0 && monotonic - read_at < 20000000LL) return cached;
    read_at = monotonic;
    const char *path = getenv("WALLCLOCK_OFFSET_FILE");
    if (!path) return cached = 0;
    FILE *file = fopen(path, "r");
    if (!file) return cached;
    double seconds = 0;
    if (fscanf(file, "%lf", &seconds) == 1) cached = (long long)(seconds * 1e9);
    fclose(file);
    return cached;
}

int clock_gettime(clockid_t clock, struct timespec *spec) {
    int result = real_clock_gettime()(clock, spec);
    if (result != 0 || (clock != CLOCK_REALTIME && clock != CLOCK_REALTIME_COARSE)) return result;
    long long total = (long long)spec->tv_sec * 1000000000LL + spec->tv_nsec + offset_nanoseconds();
    spec->tv_sec = (time_t)(total / 1000000000LL);
    spec->tv_nsec = (long)(total % 1000000000LL);
    return 0;
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timespec spec;
    int result = clock_gettime(CLOCK_REALTIME, &spec);
    if (result == 0 && tv) {
        tv->tv_sec = spec.tv_sec;
        tv->tv_usec = spec.tv_nsec / 1000;
    }
    return result;
}

time_t time(time_t *out) {
    struct timespec spec;
    clock_gettime(CLOCK_REALTIME, &spec);
    if (out) *out = spec.tv_sec;
    return spec.tv_sec;
}

#ifndef ENERGY_MONITOR_CSQLITE_SHIM_H
#define ENERGY_MONITOR_CSQLITE_SHIM_H
/* The system's SQLite; the store calls no variadic function, so no wrapper is needed. */
#include <sqlite3.h>
#endif

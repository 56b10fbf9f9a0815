#ifndef ENERGY_MONITOR_CSQLITE_SHIM_H
#define ENERGY_MONITOR_CSQLITE_SHIM_H
#include <sqlite3.h>

/// sqlite3_db_config is variadic and therefore unavailable in Swift.
static inline int csqlite_db_config_int(sqlite3 *db, int op, int value, int *result) {
    return sqlite3_db_config(db, op, value, result);
}
#endif

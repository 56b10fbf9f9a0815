import Store

extension MonitorMetrics {
    /// `energy_monitor_store_bad_rows_total{table}` and `energy_monitor_store_file_faults_total{file}`,
    /// from the store's record at scrape time (every label value, 0 until it happens).
    static func emit(_ faults: StoreFaults, into buffer: inout [UInt8]) {
        let rows = faults.badRows
        var text = """
            # HELP energy_monitor_store_bad_rows_total \
            Rows read back from the store with a value out of range or of the wrong type: \
            skipped (node counters: reset), each counted once.
            # TYPE energy_monitor_store_bad_rows_total counter

            """
        for table in StoreFaults.Table.allCases {
            text += "energy_monitor_store_bad_rows_total{table=\"\(table.rawValue)\"} \(rows[table] ?? 0)\n"
        }
        let files = faults.fileChanges
        text += """
            # HELP energy_monitor_store_file_faults_total \
            Database files found vanished or replaced under the open database (then checkpointed and reopened).
            # TYPE energy_monitor_store_file_faults_total counter

            """
        for file in StoreFaults.File.allCases {
            text += "energy_monitor_store_file_faults_total{file=\"\(file.rawValue)\"} \(files[file] ?? 0)\n"
        }
        buffer.append(contentsOf: text.utf8)
    }
}

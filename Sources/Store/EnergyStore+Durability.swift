extension EnergyStore {
    /// What a committed tick survives: SQLite's `synchronous` setting in WAL mode.
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous = FULL`: the write-ahead log is synced to the disk at every commit, so
        /// every committed tick survives a power cut. The service's setting: the master node
        /// hangs on a plug too, so a power cut is a real event.
        case powerLoss = "FULL"
        /// `synchronous = NORMAL`: the log is synced only at checkpoints. Committed ticks
        /// survive a crash of the process, but a power cut can roll back every tick since the
        /// last checkpoint (up to 32 MiB of log). Kept for `bench` to show what FULL costs.
        case processCrash = "NORMAL"

        /// The value of `PRAGMA synchronous`.
        public var pragmaValue: String { rawValue }
    }
}

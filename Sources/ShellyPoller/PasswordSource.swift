/// Where a plug's password comes from: what a configuration names instead of the password
/// itself, so a configuration written back (`simulate --write-config`) never holds a secret.
public enum PasswordSource: Sendable, Equatable {
    /// A file holding the password (a trailing newline is not part of it).
    case file(String)
    /// An environment variable.
    case environment(String)
}

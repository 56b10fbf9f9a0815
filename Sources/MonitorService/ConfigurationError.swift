import UserInput

/// A configuration the service refuses, as one line with the key path of the offending value
/// (`plugs[2].address: missing`) and, when read from a file, the file. The error of every
/// reader of user files.
public typealias ConfigurationError = KeyPathError

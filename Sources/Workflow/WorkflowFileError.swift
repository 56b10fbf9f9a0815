import UserInput

/// A workflow file the runner refuses, as one line with the file and the key path of the
/// offending value: `thesis.yaml: phases[1].images.gpu: missing image`. The error of every
/// reader of user files.
public typealias WorkflowFileError = KeyPathError

import UserInput

/// Why a knowledge base could not be loaded or a profile not be found, as one line naming the
/// place of the problem: `training[2].performanceRate: negative (-1.0)`, with the file when it
/// came from one. The error of every reader of user files.
public typealias KnowledgeBaseError = KeyPathError

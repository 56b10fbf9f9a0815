import NodeAnnotations

/// Node annotations take every sample; the publisher decides what to write and when, on
/// its own tasks, so `consume` never waits for the API server.
extension AnnotationPublisher: TickConsumer {
    public func consume(_ tick: Tick) async {
        for sample in tick.samples {
            offer(node: sample.node, watts: sample.reading.watts, timestampMilliseconds: sample.timestampMilliseconds)
        }
    }
}

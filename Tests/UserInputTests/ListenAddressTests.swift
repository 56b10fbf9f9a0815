import Testing
import UserInput

@Suite("Listen address")
struct ListenAddressTests {
    @Test(
        "HOST:PORT, [IPv6]:PORT and :PORT parse and print back",
        arguments: [
            ("127.0.0.1:8888", "127.0.0.1", 8888, "127.0.0.1:8888"), ("[::1]:8080", "::1", 8080, "[::1]:8080"),
            (":9000", "0.0.0.0", 9000, "0.0.0.0:9000"), ("localhost:9840", "localhost", 9840, "localhost:9840"),
            ("[fe80::1%eth0]:80", "fe80::1%eth0", 80, "[fe80::1%eth0]:80"),
        ]
    )
    func parses(text: String, host: String, port: Int, printed: String) throws {
        let address = try ListenAddress(text)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(address.description == printed)
        #expect(try ListenAddress(address.description) == address)
    }

    @Test("port 0 only where the caller allows it")
    func portZero() throws {
        #expect(throws: ListenAddressError.self) { try ListenAddress("localhost:0") }
        #expect(try ListenAddress("localhost:0", allowingPortZero: true).port == 0)
        #expect(throws: ListenAddressError.self) { try ListenAddress("localhost:70000", allowingPortZero: true) }
    }

    @Test(
        "anything else is refused with one line",
        arguments: [
            ("8888", "\"8888\" is not HOST:PORT, [IPv6]:PORT or :PORT"),
            ("host:", "port must be 1...65535 in \"host:\""),
            ("host:70000", "port must be 1...65535 in \"host:70000\""),
            ("::1:80", "\"::1:80\" is an IPv6 address without brackets; write [::1]:80"),
            ("[::1]8080", "\"[::1]8080\" is not HOST:PORT, [IPv6]:PORT or :PORT"),
            ("[]:80", "\"[]:80\" has no IPv6 address in its brackets"),
            ("a b:1", "\"a b:1\" has a host that is not a name or an address"),
            ("h:x", "port must be 1...65535 in \"h:x\""),
            ("h:-1", "port must be 1...65535 in \"h:-1\""),
        ]
    )
    func refuses(text: String, message: String) {
        let error = #expect(throws: ListenAddressError.self) { try ListenAddress(text) }
        #expect(error?.description == message)
    }

    @Test("URLs and local clients reach wildcard addresses on loopback")
    func reachable() throws {
        #expect(try ListenAddress(":9840").reachableHost == "127.0.0.1")
        #expect(try ListenAddress("[::]:9840").reachableHost == "[::1]")
        #expect(try ListenAddress("[::1]:9840").urlHost == "[::1]")
        #expect(try ListenAddress("10.0.0.1:9840").reachableHost == "10.0.0.1")
    }
}

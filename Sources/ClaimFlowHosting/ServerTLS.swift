public import Foundation
public import NIOSSL

/// HTTPS served directly: the server's certificate chain and private key, read from PEM files
/// once at start-up and checked there, so a bad file stops the server with one line that names
/// it instead of failing on the first client's handshake.
public enum ServerTLS {
    /// A server TLS configuration from `certificateFile` (the server's certificate first, then
    /// any intermediates, PEM) and `keyFile` (its unencrypted private key, PEM).
    ///
    /// TLS 1.2 is the oldest version offered; ALPN offers HTTP/1.1, the protocol served.
    public static func configuration(
        certificateFile: String, keyFile: String
    ) throws(ServerTLSError) -> TLSConfiguration {
        try checkReadable(certificateFile, what: "certificate")
        try checkReadable(keyFile, what: "private key")

        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw ServerTLSError("the TLS certificate file \(certificateFile) holds no PEM certificate")
        }
        guard !chain.isEmpty else {
            throw ServerTLSError("the TLS certificate file \(certificateFile) holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw ServerTLSError(
                "the TLS key file \(keyFile) holds no unencrypted PEM private key (an encrypted key is not supported)"
            )
        }

        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        // Building the context loads the key beside the certificate; the TLS library refuses a
        // key that does not belong to it.
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ServerTLSError(
                "the private key in \(keyFile) does not belong to the certificate in \(certificateFile)"
            )
        }
        return configuration
    }

    /// When the server's certificate stops being valid.
    public static func expiry(of configuration: TLSConfiguration) -> Date? {
        guard case .certificate(let leaf)? = configuration.certificateChain.first else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter))
    }

    private static func checkReadable(_ path: String, what: String) throws(ServerTLSError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ServerTLSError("the TLS \(what) file \(path) does not exist")
        }
        guard !isDirectory.boolValue, FileManager.default.isReadableFile(atPath: path) else {
            throw ServerTLSError("the TLS \(what) file \(path) cannot be read")
        }
    }
}

/// The server's certificate or key cannot be used; the message names the file and the reason.
public struct ServerTLSError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}

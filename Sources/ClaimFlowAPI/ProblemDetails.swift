import Foundation
public import Hummingbird

/// An RFC 9457 problem document (`application/problem+json`), the body of every error.
///
/// `type` is a stable identifier (`https://claimflow.dev/problems/<code>`); `detail` is for
/// people and never carries PHI or database error text.
public struct ProblemDetails: Error, Sendable, Encodable {
    /// One finding about one field of a request body, for 422 responses.
    public struct Finding: Sendable, Encodable, Hashable {
        /// JSON path of the field, such as `$.lines[0].units`.
        public let path: String
        public let message: String
    }

    public static let typeBase = "https://claimflow.dev/problems/"

    public let type: String
    public let title: String
    public let status: Int
    public let detail: String
    public let findings: [Finding]?

    public init(type code: String, title: String, status: HTTPResponse.Status, detail: String, findings: [Finding]? = nil) {
        self.type = Self.typeBase + code
        self.title = title
        self.status = status.code
        self.detail = detail
        self.findings = findings
    }

    public func response() -> Response {
        Response(
            status: .init(code: status),
            headers: [.contentType: "application/problem+json"],
            body: .init(byteBuffer: ByteBuffer(bytes: (try? WireJSON.encode(self)) ?? Array("{}".utf8)))
        )
    }

    /// 429 with `Retry-After`: the client is to wait `seconds` before asking again.
    static func tooManyRequests(_ detail: String, retryAfter seconds: Int) -> Response {
        var response = ProblemDetails(
            type: "too-many-requests", title: "Too Many Requests", status: .tooManyRequests, detail: detail
        ).response()
        response.headers[.retryAfter] = "\(seconds)"
        return response
    }
}

import Hummingbird

/// A refusal decided by the HTTP layer (authentication, authorization, request shape).
/// ``ErrorMiddleware`` turns it, and every other error, into problem+json.
enum APIError: Error {
    case unauthorized(String)
    case forbidden(String)
    case notFound(String)
    case badRequest(type: String, String)
    case unsupportedMediaType(String)
    case payloadTooLarge(String)
    case validation([ProblemDetails.Finding])
    case conflict(type: String, String)

    var problem: ProblemDetails {
        switch self {
        case .unauthorized(let detail):
            ProblemDetails(type: "unauthorized", title: "Unauthorized", status: .unauthorized, detail: detail)
        case .forbidden(let detail):
            ProblemDetails(type: "forbidden", title: "Forbidden", status: .forbidden, detail: detail)
        case .notFound(let detail):
            ProblemDetails(type: "not-found", title: "Not Found", status: .notFound, detail: detail)
        case .badRequest(let type, let detail):
            ProblemDetails(type: type, title: "Bad Request", status: .badRequest, detail: detail)
        case .unsupportedMediaType(let detail):
            ProblemDetails(
                type: "unsupported-media-type", title: "Unsupported Media Type", status: .unsupportedMediaType,
                detail: detail
            )
        case .payloadTooLarge(let detail):
            ProblemDetails(type: "payload-too-large", title: "Content Too Large", status: .contentTooLarge, detail: detail)
        case .validation(let findings):
            ProblemDetails(
                type: "validation-failed", title: "Unprocessable Content", status: .unprocessableContent,
                detail: "\(findings.count) field(s) are not valid", findings: findings
            )
        case .conflict(let type, let detail):
            ProblemDetails(type: type, title: "Conflict", status: .conflict, detail: detail)
        }
    }
}

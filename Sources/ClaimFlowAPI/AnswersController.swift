import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird

/// `POST /acknowledgments` (999, 277CA) and `POST /remittances` (835): the payer's answers,
/// uploaded as X12 text by billing. A file is applied whole or not at all.
struct AnswersController: Sendable {
    let stores: APIStores

    struct Applied: Encodable {
        let kind: String
        let claims: [AnswerStore.Outcome]
    }

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.post("acknowledgments") { request, context in
            try await apply(request, context, accepting: [.ack999, .claimAck277CA])
        }
        group.post("remittances") { request, context in
            try await apply(request, context, accepting: [.remittance835])
        }
    }

    private func apply(_ request: Request, _ context: ClaimFlowRequestContext, accepting kinds: Set<X12AnswerKind>) async throws -> Response
    {
        let principal = try context.requirePrincipal()
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/edi-x12" || mediaType == "text/plain" else {
            throw APIError.unsupportedMediaType("send the file as application/edi-x12 (or text/plain)")
        }
        let text = String(decoding: try await JSONBody.bytes(request, limit: JSONBody.batchLimit), as: UTF8.self)
        let answer: X12Answer
        do {
            answer = try X12AnswerParser.parse(text)
        } catch {
            throw Self.invalid(position: error.segmentPosition, segment: error.segmentID, reason: error.reason)
        }
        guard kinds.contains(answer.kind) else {
            let wanted = kinds.map(\.rawValue).sorted().joined(separator: " or ")
            throw Self.invalid(position: 1, segment: "ST", reason: "this is a \(answer.kind.rawValue); this endpoint takes \(wanted)")
        }
        do {
            let outcomes = try await stores.answers.apply(answer, text: text, practiceIDs: principal.practiceIDs, audit: context.audit)
            return try JSONResponse.make(Applied(kind: answer.kind.rawValue, claims: outcomes))
        } catch let refusal as AnswerStore.Refusal {
            throw Self.invalid(position: refusal.segmentPosition, segment: refusal.segmentID, reason: refusal.reason)
        }
    }

    /// A 422 naming the segment; nothing from the file was applied.
    static func invalid(position: Int?, segment: String, reason: String) -> ProblemDetails {
        let place = position.map { "segment \($0) (\(segment))" } ?? segment
        return ProblemDetails(
            type: "x12-invalid", title: "Unprocessable Content", status: .unprocessableContent,
            detail: "\(place): \(reason); nothing from the file was applied",
            findings: [.init(path: place, message: reason)]
        )
    }
}

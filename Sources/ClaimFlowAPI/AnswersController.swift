import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird

/// `POST /acknowledgments` (999, 277CA, TA1) and `POST /remittances` (835): the payer's
/// answers, uploaded as X12 text by billing. Files are read liberally: envelope quirks whose
/// meaning is clear come back as warnings, and what names no claim ClaimFlow sent is listed
/// (acknowledgments) or set aside as an exception (remittances) while the rest applies.
struct AnswersController: Sendable {
    let stores: APIStores

    struct AcknowledgmentsApplied: Encodable {
        let kind: String
        let claims: [AnswerStore.Outcome]
        let unmatched: [AnswerStore.Unmatched]
        let warnings: [X12Warning]
    }

    struct RemittancesPosted: Encodable {
        let kind: String
        let claims: [RemittanceStore.ClaimPosting]
        let providerAdjustments: [RemittanceStore.PostedProviderAdjustment]
        let exceptions: [RemittanceStore.PostingException]
        let warnings: [X12Warning]
    }

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.post("acknowledgments") { request, context in
            let principal = try context.requirePrincipal()
            let (file, text) = try await read(request, accepting: [.ack999, .claimAck277CA, .interchangeAckTA1])
            let applied = try await stores.answers.apply(file, text: text, practiceIDs: principal.practiceIDs, audit: context.audit)
            return try JSONResponse.make(
                AcknowledgmentsApplied(
                    kind: file.answer.kind.rawValue, claims: applied.outcomes, unmatched: applied.unmatched, warnings: file.warnings))
        }
        group.post("remittances") { request, context in
            let principal = try context.requirePrincipal()
            let (file, text) = try await read(request, accepting: [.remittance835])
            guard case .remittance(let payments) = file.answer else {
                throw Self.invalid(position: 1, segment: "ST", reason: "this file holds no 835")
            }
            let posting = try await stores.remittances.post(
                payments, fileText: text, practiceIDs: principal.practiceIDs, audit: context.audit)
            return try JSONResponse.make(
                RemittancesPosted(
                    kind: "835", claims: posting.claims, providerAdjustments: posting.providerAdjustments,
                    exceptions: posting.exceptions, warnings: file.warnings))
        }
    }

    /// The uploaded file, read whole; a 422 naming the segment when it cannot be read or is
    /// not one of `kinds`.
    private func read(_ request: Request, accepting kinds: Set<X12AnswerKind>) async throws -> (X12AnswerFile, String) {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/edi-x12" || mediaType == "text/plain" else {
            throw APIError.unsupportedMediaType("send the file as application/edi-x12 (or text/plain)")
        }
        let text = String(decoding: try await JSONBody.bytes(request, limit: JSONBody.batchLimit), as: UTF8.self)
        let file: X12AnswerFile
        do {
            file = try X12AnswerParser.read(text)
        } catch {
            throw Self.invalid(position: error.segmentPosition, segment: error.segmentID, reason: error.reason)
        }
        let claims =
            switch file.answer {
            case .acknowledgment999(let sets): sets.count
            case .claimAcknowledgment(let acknowledgment): acknowledgment.claims.count + acknowledgment.levelRejections.count
            case .remittance(let payments): payments.reduce(0) { $0 + $1.claims.count }
            case .interchangeAcknowledgment(let acks): acks.count
            }
        guard claims <= Self.maximumClaims else {
            throw APIError.payloadTooLarge(
                "the file answers for \(claims) claims; at most \(Self.maximumClaims) are taken per upload, so split it")
        }
        guard kinds.contains(file.answer.kind) else {
            let wanted = kinds.map(\.rawValue).sorted().joined(separator: ", ")
            throw Self.invalid(position: 1, segment: "ST", reason: "this is a \(file.answer.kind.rawValue); this endpoint takes \(wanted)")
        }
        return (file, text)
    }

    /// Claims (CLPs, 277CA claims and levels, 999 transaction sets) one upload may answer for:
    /// each 835 claim is its own transaction, so a bound keeps one upload from holding the
    /// service for minutes.
    static let maximumClaims = 10_000

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

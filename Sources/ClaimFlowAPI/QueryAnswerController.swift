import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird

/// `POST /encounters/{id}/answer`: the clinician's answer to a provider query, recorded by
/// the front desk (intake) or a supervisor; the encounter returns to the coding queue.
struct QueryAnswerController: Sendable {
    let coding: CodingStore
    let encounters: EncounterStore

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.post("{id}/answer") { request, context in
            let (_, id) = try await encounters.visibleEncounter(context)
            var body = try await JSONBody.object(request)
            let answer = body.string("answer", maxLength: 4000)
            body.rejectUnknownFields()
            try body.findings.throwIfAny()
            guard let answer else { throw APIError.validation(body.findings.items) }
            try await coding.answerQuery(encounterID: id, answer: answer, audit: context.audit)
            return try JSONResponse.make(StageBody(encounterId: id, stage: .readyToCode))
        }
    }
}

import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird

/// `POST /encounters/{id}/answer`: the clinician's answer to a provider query, recorded by
/// the front desk (intake) or a supervisor; the encounter returns to the coding queue.
struct QueryAnswerController: Sendable {
    let stores: APIStores

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.post("{id}/answer") { request, context in
            let body = try await request.decode(QueryAnswerRequest.self)
            let (_, id) = try await stores.encounters.visibleEncounter(context)
            try await stores.coding.answerQuery(encounterID: id, answer: body.answer, audit: context.audit)
            return try JSONResponse.make(WorkUpdate(encounterId: id, stage: .readyToCode))
        }
    }
}

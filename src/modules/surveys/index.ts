export { surveysRouter } from './surveys.router';
export { surveysService, type SurveyComments } from './surveys.service';
export { commentsPageQuery, type ResponsesListQuery } from './surveys.schemas';
export { configureSurveys, surveyInvitations, type SurveysSettings, type InvitationCandidate } from './invitations.service';

export { feedbackRouter } from './feedback.router';
export { feedbackService, suppressComplainers, COMPLAINT_EVENT, COMPLAINT_FEEDBACK_TYPES } from './feedback.service';
export { parseArf, type FeedbackReport } from './arf.parser';

export { reportsRouter, reportPageRouter } from './reports.router';
export { reportsService } from './reports.service';
export { signShareToken, verifyShareToken, parseExpiresIn } from './share-token';

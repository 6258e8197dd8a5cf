export { reportsRouter, reportPageRouter } from './reports.router';
export { configureReports, reportsService, type ReportsSettings } from './reports.service';
export { signShareToken, verifyShareToken, parseExpiresIn } from './share-token';

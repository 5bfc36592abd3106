export { AppError, isAppError, type AppErrorOptions } from './app-error.ts';
export { registerErrorCodes, getErrorCode, listErrorCodes, type ErrorCodeInfo } from './registry.ts';
export { toProblem, statusTitle, PROBLEM_CONTENT_TYPE, type Problem, type ProblemDocument } from './problem.ts';

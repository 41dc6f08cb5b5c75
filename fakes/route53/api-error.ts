import { textElement } from './xml.js';

/**
 * An error answer of the fake's HTTP API, shaped like Route53's: the SDK picks the error class
 * from Code alone, so Code and the HTTP status are what clients react to. These are wire answers,
 * not dnsquorum errors: nothing in dnsquorum catches them.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly type: 'Sender' | 'Receiver';

  constructor(status: number, code: string, message: string, type: 'Sender' | 'Receiver' = 'Sender') {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.type = type;
  }
}

export const XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/';

export function invalidInput(message: string): ApiError {
  return new ApiError(400, 'InvalidInput', message);
}

/** Schema violations are reported the way Route53's XML validator words them. */
export function invalidXml(detail: string): ApiError {
  return invalidInput(`Invalid XML ; ${detail}`);
}

/** InvalidChangeBatch carries every problem of the batch in one Message: `[m1, m2]`. */
export function invalidChangeBatch(messages: readonly string[]): ApiError {
  return new ApiError(400, 'InvalidChangeBatch', `[${messages.join(', ')}]`);
}

export function noSuchHostedZone(id: string): ApiError {
  return new ApiError(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${id}`);
}

export function noSuchChange(id: string): ApiError {
  return new ApiError(404, 'NoSuchChange', `Could not find resource with ID: ${id}`);
}

export function throttling(): ApiError {
  return new ApiError(400, 'Throttling', 'Rate exceeded');
}

export function priorRequestNotComplete(): ApiError {
  return new ApiError(400, 'PriorRequestNotComplete', 'The request was rejected because Route 53 was still processing a prior request.');
}

export function internalFailure(): ApiError {
  return new ApiError(500, 'InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 'Receiver');
}

/** The body of an error answer: a declaration, a newline, then one line of XML. */
export function errorBody(error: ApiError, requestId: string): string {
  return (
    `<?xml version="1.0"?>\n<ErrorResponse xmlns="${XMLNS}"><Error>${textElement('Type', error.type)}${textElement('Code', error.code)}` +
    `${textElement('Message', error.message)}</Error>${textElement('RequestId', requestId)}</ErrorResponse>`
  );
}

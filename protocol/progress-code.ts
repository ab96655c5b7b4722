// Free of zod, so that workflow code can import it: the worker evaluates every module of the workflow
// bundle again for each workflow it creates.

/** Progress values a device reports: 0-100 is the download percentage, negative values are errors. */
export const ProgressCode = {
  DOWNLOAD_ERROR: -1,
  MD5_ERROR: -2,
  INSTALL_ERROR: -3,
  OTHER_ERROR: -4,
  DOWNLOAD_COMPLETE: 100,
} as const;

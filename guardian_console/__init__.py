"""The operator's and the auditor's console: the ``guardian`` command. Not part of the Lambda asset (the handlers never
import it); it reads the deployed stack with the caller's own credentials."""

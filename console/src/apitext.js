// The API's messages in the console's language. The API words its refusals in English once, for
// every client (scripts, logs, the email line quote them); the console shows them in the
// person's language. In Korean each known message (CATALOG) is shown in Korean, the field
// names staying as the API names them; a message the catalogue does not know yet is shown after
// a Korean sentence saying what kind of refusal it was, so no Korean screen shows English alone.
// Pure functions of (message, code, lang): the tests run them under Node (tests/browser).
//
// Each entry: `en` matches one message part (a problem's text after "field: ", or a whole
// message), `ko` is its Korean ($1.. the groups), `src` a literal of the server's wording that the
// tests find in src/ (so a reworded server message fails a test instead of silently falling back).

export const CATALOG = [
  // Notices (intake): what each field lacks.
  { en: /^missing \(one of (.+)\)$/, ko: '빠졌습니다 (다음 중 하나: $1)', src: 'missing (one of {})' },
  { en: /^must be one of (.+)$/, ko: '다음 중 하나여야 합니다: $1', src: 'must be one of {}' },
  { en: /^missing: why the content is illegal \(DSA Art\. 16\(2\)\(a\)\)$/, ko: '빠졌습니다: 콘텐츠가 불법인 이유 (DSA 제16조 제2항 (a))', src: 'missing: why the content is illegal (DSA Art. 16(2)(a))' },
  { en: /^missing \(anonymous notices are accepted only for csam\)$/, ko: '빠졌습니다 (익명 신고는 csam 분류에서만 받습니다)', src: 'missing (anonymous notices are accepted only for csam)' },
  { en: /^not an email address$/, ko: '이메일 주소가 아닙니다', src: 'not an email address' },
  { en: /^missing: an authority order states its legal basis \(DSA Art\. 9\)$/, ko: '빠졌습니다: 당국의 명령은 법적 근거를 밝혀야 합니다 (DSA 제9조)', src: 'missing: an authority order states its legal basis (DSA Art. 9)' },
  { en: /^missing for an authority order$/, ko: '빠졌습니다: 당국의 명령에 필요합니다', src: 'missing for an authority order' },
  { en: /^must be true: a statement that the notice is accurate and complete \(DSA Art\. 16\(2\)\(d\)\)$/, ko: '확인해야 합니다: 신고가 정확하고 완전하다는 진술 (DSA 제16조 제2항 (d))', src: 'must be true: a statement that the notice is accurate and complete (DSA Art. 16(2)(d))' },
  { en: /^missing: the depicted person's or their representative's signature$/, ko: '빠졌습니다: 촬영된 사람 또는 그 대리인의 서명', src: "missing: the depicted person's or their representative's signature" },
  { en: /^must be true: the depiction is non-consensual, stated in good faith$/, ko: '확인해야 합니다: 동의 없이 촬영·게시되었다는 선의의 진술', src: 'must be true: the depiction is non-consensual, stated in good faith' },
  { en: /^missing: a non-empty array of media, hashes \(pdq, md5, sha256\) or locations \(content_id, message_link\)$/, ko: '빠졌습니다: 미디어, 해시(pdq, md5, sha256) 또는 위치(content_id, message_link)를 하나 이상', src: 'missing: a non-empty array of media, hashes (pdq, md5, sha256) or locations' },
  { en: /^more than (\d+) items$/, ko: '항목이 $1개를 넘습니다', src: 'more than {} items' },
  { en: /^not (\d+) hex digits$/, ko: '16진수 $1자리가 아닙니다', src: 'not {} hex digits' },
  { en: /^must be an integer 0\.\.100$/, ko: '0부터 100까지의 정수여야 합니다', src: 'must be an integer 0..100' },
  { en: /^longer than (\d+) characters$/, ko: '$1자를 넘습니다', src: 'longer than {} characters' },
  { en: /^must be true or false$/, ko: 'true 또는 false여야 합니다', src: 'must be true or false' },
  { en: /^must be a string$/, ko: '문자열이어야 합니다', src: 'must be a string' },
  { en: /^has none of media, pdq, md5, sha256, content_id, message_link$/, ko: '미디어, pdq, md5, sha256, content_id, message_link 중 어느 것도 없습니다', src: 'has none of media, pdq, md5, sha256, content_id, message_link' },
  { en: /^comes with the image's pdq$/, ko: '이미지의 pdq와 함께 보내야 합니다', src: "comes with the image's pdq" },
  { en: /^empty$/, ko: '비어 있습니다', src: '.media: empty' },
  { en: /^must be a base64 string$/, ko: 'base64 문자열이어야 합니다', src: '.media: must be a base64 string' },
  { en: /^the body must be a JSON object$/, ko: '본문은 JSON 객체여야 합니다', src: 'the body must be a JSON object' },
  { en: /^the body is not valid JSON$/, ko: '본문이 올바른 JSON이 아닙니다', src: 'the body is not valid JSON' },

  // Decisions, claims and appeals.
  { en: /^missing \(a decision states its reason\)$/, ko: '빠졌습니다 (결정에는 사유가 필요합니다)', src: 'reason: missing (a decision states its reason)' },
  { en: /^'([^']*)' is not a ground for approving a request \(one of (.+)\)$/, ko: "'$1'은(는) 요청을 승인하는 근거가 아닙니다 (다음 중 하나: $2)", src: "is not a ground for {} a request (one of {})" },
  { en: /^'([^']*)' is not a ground for rejecting a request \(one of (.+)\)$/, ko: "'$1'은(는) 요청을 거부하는 근거가 아닙니다 (다음 중 하나: $2)", src: "is not a ground for {} a request (one of {})" },
  { en: /^required to approve a request of category 'other'/, ko: "'other' 분류의 요청을 승인하려면 필요합니다 (이유 진술서에 DSA 분류를 밝혀야 합니다)", src: "required to approve a request of category 'other'" },
  { en: /^request (\d+) is claimed by (.+) \(key:(\d+)\) until (\S+): two reviewers never decide one request$/, ko: '요청 $1은(는) $2 님(키 $3)이 $4까지 담당합니다. 한 요청을 두 검토자가 결정하지 않습니다.', src: 'two reviewers never decide one request' },
  { en: /^request (\d+) is claimed by (.+) \(key:(\d+)\) until (\S+)$/, ko: '요청 $1은(는) $2 님(키 $3)이 $4까지 담당합니다', src: 'request {} is claimed by {} (key:{}) until {}' },
  { en: /^request (\d+) is (\w+), not pending_review: nothing to claim$/, ko: '요청 $1은(는) $2 상태이며 검토 대기 중이 아니어서 담당할 수 없습니다', src: 'not pending_review: nothing to claim' },
  { en: /^request (\d+) is (\w+), not pending_review$/, ko: '요청 $1은(는) $2 상태이며 검토 대기 중이 아닙니다', src: 'request {} is {}, not pending_review' },
  { en: /^no request (\d+)$/, ko: '요청 $1이(가) 없습니다', src: 'no request {}' },
  { en: /^appeal (\d+) is already (\w+)$/, ko: '이의 제기 $1은(는) 이미 $2 상태입니다', src: 'appeal {} is already {}' },
  { en: /^appeal (\d+): you decided request (\d+) that removed this content; another reviewer decides its appeal$/, ko: '이의 제기 $1: 이 콘텐츠를 삭제한 요청 $2을(를) 직접 결정했으므로 이 이의 제기는 다른 검토자가 결정합니다', src: 'another reviewer decides its appeal' },

  // Looking at evidence.
  { en: /^a clear look at evidence needs a stated reason$/, ko: '증거를 선명하게 보려면 사유를 적어야 합니다', src: 'reason: a clear look at evidence needs a stated reason' },
  { en: /^the budget of (\d+) clear looks an hour is spent: the blurred preview is still available; ask an administrator if the work needs more$/, ko: '시간당 $1회의 공개 보기 한도를 다 썼습니다. 흐린 미리보기는 계속 볼 수 있으며, 더 필요하면 관리자에게 요청하세요', src: 'clear looks an hour is spent: the blurred preview ' },
  { en: /^request (\d+) evidence\[(\d+)\]: no media kept \(not media, evidence retention off, or its period ended\)$/, ko: '요청 $1의 증거[$2]: 보관된 미디어가 없습니다 (미디어가 아니거나, 증거 보관이 꺼져 있거나, 보관 기간이 끝났습니다)', src: 'no media kept (not media, evidence retention off, or its period' },
  { en: /^frame (\d+): the video has (\d+) keyframes? to show \(0 to (\d+)\)$/, ko: '프레임 $1: 이 동영상에서 보여 줄 키프레임은 $2개입니다 (0부터 $3까지)', src: 'the video has {} keyframe{} to show' },

  // Signing in and sessions.
  { en: /^unknown or revoked API key$/, ko: '알 수 없거나 폐기된 API 키입니다', src: 'unknown or revoked API key' },
  { en: /^an API key is required \(Authorization: Bearer KEY\)$/, ko: 'API 키가 필요합니다 (Authorization: Bearer KEY)', src: 'an API key is required (Authorization: Bearer KEY)' },
  { en: /^too many failed sign-ins from this address: wait a minute$/, ko: '이 주소에서 로그인 실패가 너무 많습니다. 1분 뒤에 다시 시도하세요', src: 'too many failed sign-ins from this address: wait a minute' },
  { en: /^platform keys are for the platform's systems: the console is for people/, ko: '플랫폼 키는 플랫폼 시스템용입니다. 콘솔은 사람(요청자, 검토자, 관리자)이 씁니다', src: "platform keys are for the platform's systems" },
  { en: /^the session's API key was revoked: sign in again$/, ko: '세션의 API 키가 폐기되었습니다. 다시 로그인하세요', src: "the session's API key was revoked: sign in again" },
  { en: /^the session has ended/, ko: '세션이 끝났습니다 (로그아웃했거나, 오래 쓰지 않았거나, 시간이 지났습니다). 다시 로그인하세요', src: 'the session has ended (signed out, unused too long' },
  { en: /^the (\w+) role may not use this endpoint$/, ko: '$1 역할은 이 기능을 쓸 수 없습니다', src: 'the {} role may not use this endpoint' },

  // The victims' form and its cases.
  { en: /^no case matches this case number and PIN$/, ko: '이 사건 번호와 PIN에 맞는 사건이 없습니다', src: 'no case matches this case number and PIN' },
  { en: /^this case was withdrawn: start a new report to add pictures$/, ko: '이 사건은 철회되었습니다. 사진을 더하려면 새로 신고하세요', src: 'this case was withdrawn: start a new report to add pictures' },
  { en: /^a new report has no case number yet$/, ko: '새 신고에는 아직 사건 번호가 없습니다', src: 'case: a new report has no case number yet' },
  { en: /^a case holds at most (\d+) pictures and videos; it has (\d+)$/, ko: '한 사건에는 사진과 동영상을 $1개까지 담을 수 있습니다. 지금 $2개가 있습니다', src: 'a case holds at most {} pictures and videos; it has {}' },
  { en: /^this service sends no recovery links \(no email is set up\): a case opens only with its case number and PIN$/, ko: '이 서비스는 복구 링크를 보내지 않습니다(이메일이 설정되지 않음). 사건은 사건 번호와 PIN으로만 열 수 있습니다', src: 'this service sends no recovery links (no email is set up)' },
  { en: /^this recovery link does not work \(any more\): a link works once, for a limited time; ask for a new one on the case page$/, ko: '이 복구 링크는 (더 이상) 쓸 수 없습니다. 링크는 한 번, 정해진 시간 동안만 쓸 수 있으니 사건 페이지에서 새 링크를 요청하세요', src: 'this recovery link does not work (any more)' },
  { en: /^missing: ask GET \/v1\/report\/challenge and send its proof of work$/, ko: '빠졌습니다: GET /v1/report/challenge를 요청하고 작업 증명을 보내세요', src: 'missing: ask GET /v1/report/challenge and send its proof of work' },

  // Banks and keys.
  { en: /^bank name must be 1\.\.100 characters$/, ko: '해시 은행 이름은 1자에서 100자까지입니다', src: 'bank name must be 1..100 characters' },
  { en: /^bank name: letters, digits, '\.', '-' and '_' only \(it is part of the bank's URL\)$/, ko: "해시 은행 이름에는 영문자, 숫자, '.', '-', '_'만 쓸 수 있습니다 (은행의 URL에 들어갑니다)", src: "bank name: letters, digits, '.', '-' and '_' only" },
  { en: /^a bank needs a category$/, ko: '해시 은행에는 분류가 필요합니다', src: 'a bank needs a category' },
  { en: /^pdq_threshold must be 0\.\.64$/, ko: 'pdq_threshold는 0부터 64까지입니다', src: 'pdq_threshold must be 0..64' },
  { en: /^a key needs a name$/, ko: '키에는 이름이 필요합니다', src: 'a key needs a name' },
  { en: /^key name: longer than (\d+) characters$/, ko: '키 이름이 $1자를 넘습니다', src: 'key name: longer than 100 characters' },
  { en: /^key name: control characters are not allowed$/, ko: '키 이름에 제어 문자를 쓸 수 없습니다', src: 'key name: control characters are not allowed' },
];

// A Korean sentence for each kind of refusal (the API's error codes, then HTTP statuses).
const KO_LEAD = {
  invalid_argument: '입력을 받을 수 없습니다',
  unauthenticated: '인증되지 않았습니다',
  forbidden: '권한이 없습니다',
  not_found: '찾을 수 없습니다',
  method_not_allowed: '허용되지 않는 요청입니다',
  failed_precondition: '지금 상태에서는 할 수 없습니다',
  conflict: '이미 있거나 충돌합니다',
  already_exists: '이미 있습니다',
  too_many_requests: '한도를 넘었습니다. 잠시 뒤에 다시 시도하세요',
  resource_exhausted: '한도를 넘었습니다',
  unsupported_media_type: '지원하지 않는 형식입니다',
  unavailable: '서비스를 지금 쓸 수 없습니다. 잠시 뒤에 다시 시도하세요',
  internal: '서비스 내부 오류입니다',
  network: '네트워크 오류입니다',
};
const KO_STATUS = { 400: 'invalid_argument', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found',
  409: 'failed_precondition', 413: 'resource_exhausted', 415: 'unsupported_media_type', 429: 'too_many_requests',
  500: 'internal', 503: 'unavailable' };

// Korean for one message part, or null when the catalogue does not know it.
function known(text) {
  for (const e of CATALOG) {
    const m = text.match(e.en);
    if (m) return e.ko.replace(/\$(\d)/g, (_, i) => m[Number(i)] ?? '');
  }
  return null;
}

// "invalid request: a: msg; evidence[0].pdq: msg" -> [{field, message}] (a message without that
// shape is one part without a field).
export function splitProblems(message) {
  const text = String(message || '').replace(/^invalid request:\s*/, '');
  const parts = text.split(/;\s+(?=[A-Za-z_][\w.[\]]*: )/);
  return parts.map((p) => {
    const m = p.match(/^([A-Za-z_][\w.[\]]*):\s+([\s\S]*)$/);
    return m ? { field: m[1], message: m[2] } : { field: '', message: p };
  });
}

// One problem's text (after its field) in `lang`.
export function problemText(text, lang) {
  if (lang !== 'ko') return text;
  return known(String(text)) ?? String(text);
}

// A whole error message in `lang`: known messages and every known "field: problem" part
// translated; otherwise what could be translated after a Korean sentence for its kind (code, or
// the HTTP status when the code is http_NNN).
export function apiMessage(message, code, lang) {
  const text = String(message ?? '');
  if (lang !== 'ko' || !text) return text;
  const whole = known(text);
  if (whole) return whole;
  let all = true;
  const parts = splitProblems(text).map(({ field, message: what }) => {
    const k = known(what);
    if (k === null) all = false;
    return field ? `${field}: ${k ?? what}` : (k ?? what);
  });
  if (all) return parts.join('; ');
  const status = /^http_(\d+)$/.exec(code || '');
  const kind = KO_LEAD[code] ? code : (status && KO_STATUS[status[1]]) || '';
  return `${KO_LEAD[kind] || '서비스가 요청을 거부했습니다'}: ${parts.join('; ')}`;
}

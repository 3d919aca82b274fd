// Passkeys (WebAuthn) for Postkasse's passkey pages: the only script the
// appliance serves, allowed only on those pages (Content-Security-Policy
// script-src 'self'). A form marked data-passkey="create" or "get" carries
// the ceremony's options (JSON, made by the server) in data-options. On
// submit the script asks the browser for the passkey, writes its answer
// (PublicKeyCredential.toJSON) into the form's hidden "response" field and
// submits the form to the server, which checks everything. When the
// browser has no passkeys, or the resident cancels, the form's status
// element says so and nothing is sent.
'use strict';
(function () {
  function b64url(buf) {
    var bytes = new Uint8Array(buf), s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  // toJSON, with the PRF output in base64url whatever the browser's
  // toJSON does with extension results.
  function credentialJSON(cred) {
    var json = cred.toJSON();
    var prf = cred.getClientExtensionResults().prf;
    json.clientExtensionResults = json.clientExtensionResults || {};
    if (prf) {
      var out = {};
      if (prf.enabled !== undefined) out.enabled = prf.enabled;
      if (prf.results && prf.results.first) out.results = {first: b64url(prf.results.first)};
      json.clientExtensionResults.prf = out;
    }
    return JSON.stringify(json);
  }

  function hasPRFOutput(cred) {
    var prf = cred.getClientExtensionResults().prf;
    return !!(prf && prf.results && prf.results.first);
  }

  function prfEnabled(cred) {
    var prf = cred.getClientExtensionResults().prf;
    return !!(prf && prf.enabled);
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials &&
      PublicKeyCredential.parseCreationOptionsFromJSON && PublicKeyCredential.parseRequestOptionsFromJSON);
  }

  function say(form, key) {
    var status = form.querySelector('[data-passkey-status]');
    if (!status) return;
    status.textContent = form.getAttribute('data-' + key) || '';
    status.hidden = false;
  }

  async function ceremony(form) {
    var options = JSON.parse(form.getAttribute('data-options'));
    if (form.getAttribute('data-passkey') === 'create') {
      var cred = await navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
      form.elements.response.value = credentialJSON(cred);
      var unlock = form.getAttribute('data-unlock');
      if (unlock && prfEnabled(cred) && !hasPRFOutput(cred)) {
        // The authenticator has the PRF but gave no output while making
        // the passkey: ask the new passkey for it at once.
        var u = JSON.parse(unlock);
        u.allowCredentials = [{type: 'public-key', id: cred.id}];
        var a = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(u)});
        form.elements.unlock.value = credentialJSON(a);
      }
    } else {
      var assertion = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)});
      form.elements.response.value = credentialJSON(assertion);
    }
  }

  var forms = document.querySelectorAll('form[data-passkey]');
  for (var i = 0; i < forms.length; i++) {
    (function (form) {
      if (!supported()) say(form, 'unsupported');
      form.addEventListener('submit', function (ev) {
        if (form.getAttribute('data-sent')) return;
        ev.preventDefault();
        if (!supported()) {
          say(form, 'unsupported');
          return;
        }
        var button = form.querySelector('button[type=submit]');
        if (button) button.disabled = true;
        ceremony(form).then(function () {
          form.setAttribute('data-sent', '1');
          form.submit();
        }, function () {
          if (button) button.disabled = false;
          say(form, 'failed');
        });
      });
    })(forms[i]);
  }
})();

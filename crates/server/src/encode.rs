//! Operation outputs and errors in AWS's XML shapes (botocore's IAM and STS models name every
//! element; the envelopes are `<XResponse xmlns=...><XResult>...</XResult><ResponseMetadata>`).

use keyward_core::ApiError;
use keyward_core::clock::iso8601;
use keyward_core::model::{AccessKey, MfaDevice, Tag, User};
use keyward_core::ops::{Output, Page};

use crate::decode::Service;
use crate::xml::Xml;

fn user(x: &mut Xml, u: &User, arn: &str, with_tags: bool) {
    x.elem("Path", &u.path)
        .elem("UserName", &u.name)
        .elem("UserId", &u.user_id)
        .elem("Arn", arn)
        .elem("CreateDate", &iso8601(u.created));
    if with_tags && !u.tags.is_empty() {
        tags(x, &u.tags);
    }
}

fn tags(x: &mut Xml, list: &[Tag]) {
    x.open("Tags");
    for t in list {
        x.open("member")
            .elem("Key", &t.key)
            .elem("Value", &t.value)
            .close("member");
    }
    x.close("Tags");
}

fn page(x: &mut Xml, p: &Page) {
    x.elem("IsTruncated", if p.is_truncated { "true" } else { "false" });
    x.opt("Marker", p.marker.as_deref());
}

fn key_metadata(x: &mut Xml, user_name: Option<&str>, k: &AccessKey) {
    x.opt("UserName", user_name)
        .elem("AccessKeyId", &k.access_key_id)
        .elem("Status", k.status.as_str())
        .elem("CreateDate", &iso8601(k.created));
}

/// `Base32StringSeed` and `QRCodePNG` are blobs in botocore's model: base64 on the wire.
fn blob(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

fn opt_date(x: &mut Xml, name: &str, date: Option<time::OffsetDateTime>) {
    if let Some(d) = date {
        x.elem(name, &iso8601(d));
    }
}

fn mfa_device(x: &mut Xml, user_name: &str, d: &MfaDevice) {
    x.elem("UserName", user_name)
        .elem("SerialNumber", &d.serial);
    opt_date(x, "EnableDate", d.enable_date);
}

/// Writes the `<ActionResult>` body of an output, if the output has one.
fn result_body(x: &mut Xml, output: &Output) {
    match output {
        Output::Empty => {}
        Output::CallerIdentity {
            user_id,
            account,
            arn,
        } => {
            x.elem("UserId", user_id)
                .elem("Account", account)
                .elem("Arn", arn);
        }
        Output::User { user: u, arn } => {
            x.open("User");
            user(x, u, arn, true);
            x.close("User");
        }
        Output::RootUser {
            account_id,
            arn,
            created,
        } => {
            x.open("User")
                .elem("UserId", account_id)
                .elem("Arn", arn)
                .elem("CreateDate", &iso8601(*created))
                .close("User");
        }
        Output::Users { users, page: p } => {
            x.open("Users");
            for (u, arn) in users {
                x.open("member");
                user(x, u, arn, false);
                x.close("member");
            }
            x.close("Users");
            page(x, p);
        }
        Output::Tags {
            tags: list,
            page: p,
        } => {
            tags(x, list);
            page(x, p);
        }
        Output::AccessKeyCreated {
            user_name,
            key,
            secret,
        } => {
            x.open("AccessKey")
                .opt("UserName", user_name.as_deref())
                .elem("AccessKeyId", &key.access_key_id)
                .elem("Status", key.status.as_str())
                .elem("SecretAccessKey", secret.expose())
                .elem("CreateDate", &iso8601(key.created))
                .close("AccessKey");
        }
        Output::AccessKeys {
            user_name,
            keys,
            page: p,
        } => {
            x.opt("UserName", user_name.as_deref());
            x.open("AccessKeyMetadata");
            for k in keys {
                x.open("member");
                key_metadata(x, user_name.as_deref(), k);
                x.close("member");
            }
            x.close("AccessKeyMetadata");
            page(x, p);
        }
        Output::VirtualMfaDeviceCreated { device, secret } => {
            let seed = secret.seed.to_base32();
            x.open("VirtualMFADevice")
                .elem("SerialNumber", &device.serial)
                .elem("Base32StringSeed", &blob(seed.as_bytes()))
                .elem("QRCodePNG", &blob(&secret.qr_png));
            if !device.tags.is_empty() {
                tags(x, &device.tags);
            }
            x.close("VirtualMFADevice");
        }
        Output::MfaDevices { devices, page: p } => {
            x.open("MFADevices");
            for (user_name, d) in devices {
                x.open("member");
                mfa_device(x, user_name, d);
                x.close("member");
            }
            x.close("MFADevices");
            page(x, p);
        }
        Output::VirtualMfaDevices { devices, page: p } => {
            x.open("VirtualMFADevices");
            for (d, owner) in devices {
                x.open("member").elem("SerialNumber", &d.serial);
                if let Some((u, arn)) = owner {
                    x.open("User");
                    user(x, u, arn, false);
                    x.close("User");
                }
                opt_date(x, "EnableDate", d.enable_date);
                x.close("member");
            }
            x.close("VirtualMFADevices");
            page(x, p);
        }
        Output::MfaDevice { user_name, device } => {
            x.opt("UserName", user_name.as_deref())
                .elem("SerialNumber", &device.serial);
            opt_date(x, "EnableDate", device.enable_date);
        }
    }
}

/// The whole response document of a successful `action`.
pub fn response(service: Service, action: &str, output: &Output, request_id: &str) -> String {
    let mut x = Xml::new();
    let envelope = format!("{action}Response");
    x.open_ns(&envelope, service.namespace());
    if !matches!(output, Output::Empty) {
        let result = format!("{action}Result");
        x.open(&result);
        result_body(&mut x, output);
        x.close(&result);
    }
    x.open("ResponseMetadata")
        .elem("RequestId", request_id)
        .close("ResponseMetadata");
    x.close(&envelope);
    x.finish()
}

/// `<ErrorResponse>` with `Type`, `Code`, `Message` and the request ID.
pub fn error(service: Service, err: &ApiError, request_id: &str) -> String {
    let mut x = Xml::new();
    x.open_ns("ErrorResponse", service.namespace())
        .open("Error")
        .elem("Type", err.fault.as_str())
        .elem("Code", err.code)
        .elem("Message", &err.message)
        .close("Error")
        .elem("RequestId", request_id)
        .close("ErrorResponse");
    x.finish()
}

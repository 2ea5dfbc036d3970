"""flask --app wsgi authority init-key | certs pdf | certs ofd | certs ofd-backfill | certs verify."""
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from portal.certificates import keys, seal_keys
from portal.certificates.authorities import Authority
from portal.certificates.documents import read_sealed_ofd, read_signed_pdf, seal_certificate, seal_ofd_copy
from portal.certificates.drafts import purge_stale_drafts
from portal.certificates.models import Certificate
from portal.certificates.ofd_documents import missing_ofd_ids, seal_missing_ofds, verify_certificate_file
from portal.extensions import db

authority_cli = click.Group("authority", help="Issuing authorities: signing keys.")
certs_cli = click.Group("certs", help="Certificates: template, check, import, pdf, ofd, ofd-backfill, verify.")


@authority_cli.command("init-key")
@click.argument("code")
@click.option("--overwrite", is_flag=True, help="Replace an existing key (old PDFs stay valid).")
@with_appcontext
def init_key_command(code, overwrite):
    """Create a key pair and certificate for authority CODE (USCC or division code) under the dev root CA."""
    code = code.strip().upper()
    authority = db.session.scalar(db.select(Authority).where((Authority.uscc == code) | (Authority.division_code == code)))
    if authority is None:
        raise click.ClickException(f"发证机关 {code} 不存在（请给出统一社会信用代码或行政区划代码）")
    if keys.has_key(authority.uscc) and seal_keys.has_seal_key(authority.uscc) and not overwrite:
        raise click.ClickException(f"{authority.name} 已有签章密钥；如需更换请加 --overwrite")
    keys.init_key(authority.uscc, authority.name, overwrite=overwrite)
    click.echo(f"已为 {authority.name}（{authority.uscc}）生成签章密钥和证书（PDF 用 ECDSA，OFD 电子印章用 SM2；"
               f"私钥加密保存于 PKI 目录）")
    _backfill_ofds(authority.uscc)


def _backfill_ofds(uscc=None):
    """Seal, here and now, the OFDs that certificates with a signed PDF lack (of one authority, or all)."""
    ids = missing_ofd_ids(uscc)
    if not ids:
        return 0
    outcomes = []
    with click.progressbar(length=len(ids), label="补签 OFD 电子证照") as bar:
        def count(ok):
            outcomes.append(ok)
            bar.update(1)
        seal_missing_ofds(ids, count)
    sealed = sum(outcomes)
    click.echo(f"已补签 OFD 电子证照 {sealed} 份" + (
        f"，未能补签 {len(ids) - sealed} 份（原因见证照维护中各证书的 OFD 状态）" if sealed < len(ids) else ""))
    return len(ids)


def _sealed_certificate(number):
    """Certificate NUMBER, its PDF sealed now if it was not yet (the CLI's `pdf` and `ofd`)."""
    cert = db.session.scalar(db.select(Certificate).filter_by(number=number.strip()))
    if cert is None:
        raise click.ClickException(f"证书 {number} 不存在")
    if cert.pdf_state != "signed":
        seal_certificate(cert.id)
    return cert


@certs_cli.command("pdf")
@click.argument("number")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def pdf_command(number, out):
    """Write the signed PDF of certificate NUMBER to OUT."""
    cert = _sealed_certificate(number)
    data = read_signed_pdf(cert)
    if data is None:
        raise click.ClickException(f"证书 {number} 的电子证照尚未生成：{cert.pdf_error or cert.pdf_state_name}")
    Path(out).write_bytes(data)
    click.echo(f"已写出 {out}（{len(data)} 字节）")


@certs_cli.command("ofd")
@click.argument("number")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def ofd_command(number, out):
    """Write the OFD of certificate NUMBER, under its authority's SM2 electronic seal, to OUT."""
    cert = _sealed_certificate(number)
    seal_ofd_copy(cert)
    db.session.commit()
    data = read_sealed_ofd(cert)
    if data is None:
        reason = cert.ofd_error or (f"电子证照（PDF）尚未签章：{cert.pdf_error or cert.pdf_state_name}"
                                    if cert.pdf_state != "signed" else cert.ofd_state_name)
        if not seal_keys.has_seal_key(cert.authority_uscc):
            reason += f"；请先运行 flask authority init-key {cert.authority_uscc}"
        raise click.ClickException(f"证书 {number} 的 OFD 电子证照尚未生成：{reason}")
    Path(out).write_bytes(data)
    click.echo(f"已写出 {out}（{len(data)} 字节）")


@certs_cli.command("ofd-backfill")
@with_appcontext
def ofd_backfill_command():
    """Seal the OFD of every certificate that has a signed PDF but no OFD yet (after the upgrade, a new key)."""
    if not _backfill_ofds():
        click.echo("没有缺少 OFD 电子证照的证书")


@certs_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def verify_command(file):
    """Verify a certificate PDF or OFD: seal valid, document unmodified, certificate not cancelled."""
    data = Path(file).read_bytes()
    result = verify_certificate_file(data)
    for line in result.lines():
        click.echo(line)
    sys.exit(0 if result.ok else 1)


@certs_cli.command("purge-drafts")
@with_appcontext
def purge_drafts_command():
    """Delete draft attachments of 单个录入 older than DRAFT_MAX_AGE_HOURS (from cron in production)."""
    click.echo(f"已删除过期的草稿附件 {purge_stale_drafts()} 个")
